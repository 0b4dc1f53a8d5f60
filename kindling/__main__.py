from kindling.cli import app

app(prog_name="kindling")
