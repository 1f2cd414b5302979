"""MALL marketplace (via the Omnicado proxy, `/v1`): codec between MALL order JSON and orderhub."""
