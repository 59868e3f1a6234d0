"""Where items come from: the bounded, guarded HTTP client, feed polling and page fetching."""
