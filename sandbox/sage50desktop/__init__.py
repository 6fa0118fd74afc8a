"""The Sage 50 US desktop sandbox: a Sage 50 company's tables in SQLite (read over ODBC) and the
agent's writes."""
