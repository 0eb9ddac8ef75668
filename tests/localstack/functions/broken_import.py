import module_that_does_not_exist  # noqa: F401  (the import error is the point of this test function)


def handler(event, context):  # type: ignore[no-untyped-def]
    return "unreachable"
