"""citygrid HTTP layer: app factory, routers, error mapping, CLI."""
