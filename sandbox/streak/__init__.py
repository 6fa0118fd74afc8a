"""A local stand-in of Streak (the CRM inside Gmail): its v1/v2 REST API, webhooks and pages.

`app.py` holds the API handlers, `protocol.py` how requests are read and lists paged,
`records.py` the rules for changing records, `data.py` the fixed team and pipelines,
`seed.py` the seeded boxes and people, `webhooks.py` the delivery engine and `pages.py`
what a person sees.
"""
