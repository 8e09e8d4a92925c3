"""The AWS adapters: the only package that imports boto3 or botocore.

One module per AWS service holds its *port* (an ABC whose docstring states what every
implementation MUST/SHOULD do, in domain terms) and one module its boto3-backed
implementation over an injected client. AWS error codes are turned into the port's
exceptions inside the implementation and nowhere else. The in-memory fakes live in
``tests/fakes`` (never shipped, never imported by production code); one contract suite per
port (``tests/contract``) runs against the fake and against moto in server mode.
"""
