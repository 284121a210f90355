"""The gateway: a websocket of JSON text frames, sharded as Discord shards it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.guild import GuildMixin


class GatewayMixin(GuildMixin):
    async def drop_gateway(self, shard_ids: Collection[int] | None = None) -> None:
        """Close the gateway connections (of these shards; all by default), as when the
        bot process running them dies."""
        for ws in list(self._sockets):
            if shard_ids is None or self._shards.get(ws, (0, 1))[0] in shard_ids:
                await ws.close()
                self._sockets.discard(ws)
        self.identified.clear()

    def shard_of(self, guild_id: int | None, shard_count: int) -> int:
        """The shard Discord sends a guild's events to; DMs go to shard 0."""
        return 0 if guild_id is None else (guild_id >> 22) % shard_count

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                op = data.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:
                    shard = (data.get("d") or {}).get("shard") or [0, 1]
                    self._shards[ws] = (int(shard[0]), int(shard[1]))
                    await self._identify(ws)
                elif op == 6:
                    # No resume here: ask for a fresh IDENTIFY.
                    await ws.send_str(json.dumps({"op": 9, "d": False}))
        finally:
            self._sockets.discard(ws)
            self._shards.pop(ws, None)
        return ws

    async def _identify(self, ws: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": {**self.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": (
                [{"id": str(self.guild_id), "unavailable": True}]
                if self._owns(ws, self.guild_id)
                else []
            ),
            "session_id": secrets.token_hex(8),
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "shard": list(self._shards.get(ws, (0, 1))),
        }
        await self._send(ws, "READY", ready)
        # Like Discord: a guild is announced on its own shard only.
        if self._owns(ws, self.guild_id):
            await self._send(ws, "GUILD_CREATE", self._guild_payload())
        self.identified.set()

    def _owns(self, ws: web.WebSocketResponse, guild_id: int | None) -> bool:
        shard_id, count = self._shards.get(ws, (0, 1))
        return self.shard_of(guild_id, count) == shard_id

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        guild = data.get("guild_id")
        # The connection of the event's shard (by its guild; DMs: shard 0), as Discord does.
        targets = [ws for ws in self._sockets if self._owns(ws, int(guild) if guild else None)]
        if not targets:
            raise RuntimeError("the bot is not connected to the fake gateway")
        for ws in targets:
            await self._send(ws, event, data)
