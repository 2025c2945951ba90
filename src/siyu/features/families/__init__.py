"""The feature families, one module each. Importing this package registers every module's
family in `siyu.features.family.FAMILIES`, so a new family is one new module here (plus its
test): nothing else names it."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
