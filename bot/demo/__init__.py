"""Demo data for the bundled Xinghe Electronics shop: products and sample orders."""
