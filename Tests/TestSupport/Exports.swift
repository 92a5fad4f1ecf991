// Tests that use `TestPostgresServer.embedded` get EmbeddedPostgres with TestSupport.
@_exported import EmbeddedPostgres
