"""Moving a business from its SQLite file to an empty PostgreSQL database (`nurture-bot migrate-to-postgres`).

`source` reads the SQLite file (read-only, one snapshot), `target` prepares and fills the PostgreSQL database,
`values` converts what the two store differently, `move` runs the whole copy and compares the two at the end.
"""
