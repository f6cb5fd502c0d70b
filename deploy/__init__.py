"""Deploying to AWS: synthesis in a fresh process, the terraform wrapper, "bootstrap, init, apply",
the image build and `make release`. `localdev/` holds only the local stand-ins that use it."""
