"""The API of the standard (§8), mounted on the portal's app under `/api/v1`: OAuth 2.0 client
credentials (`oauth`), per-client rate limits (`limits`) and the routes (`app`). The routes turn
a request into the same use cases as a file (`pipeline.receive`, `pipeline.api`)."""
