"""Test support written once for every test package: the Lambda context, the fault injector on boto3 clients,
the moto world the handler runs in, and the harness's CloudFormation resolver with made-up lookups."""
