"""CS-Cart-style web shop REST API (`/api`): codec between CS-Cart order JSON and orderhub."""
