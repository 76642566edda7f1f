"""Extra demo tables contributed by later features, one module each.

Each module here defines `generate(rng, frames, scale) -> dict[str, pl.DataFrame]` returning
new tables (or replacing existing ones) from the frames built so far; `cdv_core.demo` calls
them in name order, each with its own generator seeded from the demo seed and the module name,
so adding a module never changes the tables of the others.
"""
