"""The teleop and correction console: a web page to watch, steer, drive and teach the robot.

`robomatrix run --console` serves it beside a one-process simulation (`live.LiveSimBackend`);
`robomatrix console` and the `console` node serve it attached to a launched graph over DDS
(`node.ConsoleNode`). Both backends give the web app (`server`) the same `ConsoleBackend`
contract (`backend`), so the page does not know which one it talks to.

Pieces, each testable without a browser or middleware:
  protocol   what the page may send, validated (sizes, types, ranges) into typed commands
  teleop     key/gamepad rates → robot commands, with the silence watchdog
  model      the page's state: plan with step statuses, log ring, latest camera frame
  recording  teleoperated demonstrations into the dataset format of `robomatrix.skills.data`
  server     FastAPI + WebSocket app, access token, loopback-only by default
"""
