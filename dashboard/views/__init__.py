"""Dashboard pages: thin views over the services and selectors the API uses, with the same tenancy."""
