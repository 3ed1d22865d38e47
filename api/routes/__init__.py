"""HTTP routes, one small module per resource; each converts JSON to the domain and back."""
