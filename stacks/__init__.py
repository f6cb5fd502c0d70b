"""CDK for Terraform constructs and stacks of the session management system.

One module per concern: network, session_store, parameters, service, load_balancer
(with certificate), waf, scaling, monitoring; `environment_stack` wires them together per environment and
`bootstrap_stack` creates the state bucket. Importing this package first installs the
toolchain (cdktf or cdktn, see `stacks.toolchain`), then the lean AWS bindings loader (see
`stacks.aws_bindings`).
"""

from stacks import toolchain as _toolchain

_toolchain.install()

from stacks import aws_bindings as _aws_bindings  # noqa: E402  (after the toolchain's aliases)

_aws_bindings.install()
