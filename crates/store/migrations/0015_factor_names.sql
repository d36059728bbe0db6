-- Version 15: a name the user gives an authenticator on the account page ("Phone", "Work
-- laptop"). Okta's factors have none; NULL shows the default name ("Authenticator app").
ALTER TABLE factors ADD COLUMN display_name TEXT;
