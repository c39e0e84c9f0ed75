"""`python -m loreforge ...` is the `loreforge` command; launchers such as `torchrun -m loreforge train CONFIG.yaml`
and `accelerate launch -m loreforge train CONFIG.yaml` start it this way."""

from loreforge.cli import main

if __name__ == "__main__":
    main()
