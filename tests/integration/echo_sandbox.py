"""A tiny sandbox that answers with any status asked for, to test HTTP error handling."""

from werkzeug.routing import Rule

from sandbox.core.app import SandboxApp, json_response


class EchoSandbox(SandboxApp):
    """Answers /api/status/<code> with that status and a system-style error body."""

    name = "echo"

    def routes(self):
        return [
            Rule("/api/status/<int:code>", endpoint="status", methods=["GET", "POST"]),
            Rule("/api/items", endpoint="items", methods=["POST"]),
        ]

    def on_status(self, request, code):
        return json_response({"message": f"echo says {code}"}, status=code)

    def on_items(self, request):
        return self.committed(json_response({"id": 1}, status=201))
