"""Low-level pieces under the recipes. Hazardous: nonces, raw keys and no policy.

Nothing here is re-exported from domvia_e2ee; applications should not need it.
"""
