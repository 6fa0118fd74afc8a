"""A local stand-in of Salesforce: OAuth, REST (sObjects, SOQL, composite), Outbound Messages."""
