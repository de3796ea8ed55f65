from appliance.store.bench import register  # noqa: F401
