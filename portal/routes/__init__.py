"""The portal's routers, one per area: sign-in, council pages, national pages, accounts."""
