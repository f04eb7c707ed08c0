"""The platform sandbox: a seeded synthetic KOL world and one loopback HTTP server that
serves Instagram, Facebook, TikTok, YouTube and X exactly as docs/platform_apis.md documents.

    from sandbox import SandboxServer, WorldConfig
    with SandboxServer(WorldConfig(seed=42, creators=50)) as sandbox:
        urls = sandbox.base_urls   # {"instagram": "http://127.0.0.1:PORT/ig", ...}

See README.md in this folder for the world's intended platform differences and fault modes.
"""

from sandbox.exports import export_world, world_stats
from sandbox.faults import FAULT_HEADER, MODES, FaultConfig
from sandbox.profiles import SANDBOX_IG_USER_ID
from sandbox.server import SandboxServer, serve_forever
from sandbox.world import World, WorldConfig

__all__ = [
    "FAULT_HEADER",
    "MODES",
    "SANDBOX_IG_USER_ID",
    "FaultConfig",
    "SandboxServer",
    "World",
    "WorldConfig",
    "export_world",
    "serve_forever",
    "world_stats",
]
