"""The suite: one package, so that its folders (tests.harness, tests.handler) never shadow the code."""
