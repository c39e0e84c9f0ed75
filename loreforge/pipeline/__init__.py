"""The one-command run (`loreforge run RECIPE.yaml`): documents to a tuned, evaluated model.

- `recipe`: what a recipe may say (pydantic models; every key described);
- `load`: reading and checking a recipe whole before any work starts;
- `plan`: the stages, what each depends on, which must run now and why (fingerprints of their inputs);
- `summary`: the one-screen summary at the end.

The stages themselves are the service's actions (`loreforge.service.pipeline*`): this package decides, the
service does. Importing it imports neither pydantic models nor the store until a module is used.
"""
