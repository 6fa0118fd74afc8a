"""Flow pages (a pair's initial load) and `/hooks/`, where CRMs deliver their webhooks."""
