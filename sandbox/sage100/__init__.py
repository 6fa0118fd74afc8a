"""The Sage 100 sandbox: Sage's tables in SQLite (read over ODBC) and the agent's writes."""
