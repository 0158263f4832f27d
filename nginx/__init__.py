"""nginx configuration templates, shipped inside the wheel as probes.nginx."""
