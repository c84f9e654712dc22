"""The generated demo archive behind ``huifang demo``: scenes, phrases, the generator, and loading it."""
