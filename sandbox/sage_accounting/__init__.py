"""A local stand-in for Sage Accounting (Sage 50 cloud), REST API v3.1 with OAuth 2."""
