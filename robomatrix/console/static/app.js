// RoboMatrix console page: one WebSocket to the console server (robomatrix/console/server.py).
// No build step: plain browser JavaScript.
"use strict";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
const TELEOP_PERIOD_MS = 50;  // 20 Hz while keys or the gamepad are active (server watchdog: 0.5 s)
const DEADZONE = 0.15;
const CANVAS_WIDTH = 640;

let ws = null;
let state = null;
let frameCount = 0;
let skills = [];
const keys = new Set();
let gripperOpen = null;    // last gripper set-point we sent (null: never)
let wasActive = false;
let padButtonDown = false;

// ------------------------------------------------------------------ connection
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const url = `${proto}://${location.host}/ws` + (token ? `?token=${encodeURIComponent(token)}` : "");
  ws = new WebSocket(url);
  ws.binaryType = "blob";
  ws.onopen = () => setConn(true);
  ws.onclose = () => { setConn(false); setTimeout(connect, 1000); };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== "string") { drawFrame(ev.data); return; }
    const msg = JSON.parse(ev.data);
    if (msg.type === "hello") hello(msg);
    else if (msg.type === "state") render(msg);
    else if (msg.type === "log") msg.lines.forEach(addLog);
    else if (msg.type === "error") showError(msg.message);
  };
}

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(obj)); return true; }
  showError("not connected");
  return false;
}

function setConn(ok) {
  $("conn").textContent = ok ? "online" : "offline";
  $("conn").className = "pill " + (ok ? "ok" : "bad");
}

// ------------------------------------------------------------------ camera
const canvas = $("camera");
const ctx = canvas.getContext("2d");

async function drawFrame(blob) {
  const img = await createImageBitmap(blob);
  const height = Math.round(CANVAS_WIDTH * img.height / img.width);  // a fixed drawing size: labels stay legible
  if (canvas.width !== CANVAS_WIDTH || canvas.height !== height) { canvas.width = CANVAS_WIDTH; canvas.height = height; }
  const sx = canvas.width / img.width, sy = canvas.height / img.height;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  const dets = (state && state.frame && state.frame.detections) || [];
  ctx.lineWidth = 2;
  ctx.font = "bold 13px system-ui, sans-serif";
  for (const d of dets) {
    const [x, y, w, h] = d.box;
    const color = colorFor(d.name);
    ctx.strokeStyle = color;
    ctx.strokeRect(x * sx, y * sy, w * sx, h * sy);
    let label = d.name.replace(/_/g, " ");
    if (d.position_base) label += ` ${Math.hypot(d.position_base[0], d.position_base[1]).toFixed(2)} m`;
    const tw = ctx.measureText(label).width + 8;
    const ly = y * sy >= 18 ? y * sy - 18 : y * sy;  // above the box, or inside it at the top edge
    ctx.fillStyle = color;
    ctx.fillRect(x * sx, ly, tw, 18);
    ctx.fillStyle = "#000";
    ctx.fillText(label, x * sx + 4, ly + 13);
  }
  if (state && state.estop) {
    ctx.fillStyle = "rgba(179, 38, 30, 0.85)";
    ctx.fillRect(0, 0, canvas.width, 34);
    ctx.fillStyle = "#fff";
    ctx.font = "bold 18px system-ui, sans-serif";
    ctx.fillText("E-STOP ENGAGED", 12, 24);
  }
  img.close();
  frameCount += 1;
  $("frame-count").textContent = `frame ${frameCount}`;
  $("frame-count").dataset.count = String(frameCount);
  if (state && state.frame) {
    $("frame-info").textContent = `${state.frame.width}×${state.frame.height} · t=${state.frame.stamp.toFixed(1)} s · ${dets.length} detections`;
  }
}

function colorFor(name) {
  const table = { red: "#ff5a5a", green: "#3ccf7a", blue: "#4aa3ff", yellow: "#ffd84a", box: "#d9a066",
                  bin: "#b0b8c0", drawer: "#c58cff" };
  for (const k in table) if (name.includes(k)) return table[k];
  return "#ffffff";
}

// ------------------------------------------------------------------ state
function hello(msg) {
  skills = msg.skills || [];
  const sel = $("rec-skill");
  sel.innerHTML = "";
  for (const s of skills) {
    const o = document.createElement("option");
    o.value = s.name; o.textContent = s.name; o.title = s.description;
    sel.appendChild(o);
  }
  renderArgs();
}

function render(msg) {
  state = msg;
  $("mode").textContent = msg.mode === "sim" ? `one process · ${msg.scene || ""} seed ${msg.seed ?? ""}` : "attached to graph (DDS)";
  const st = msg.status ? msg.status.state : "idle";
  $("state").textContent = msg.estop ? "e-stop" : st;
  $("state").className = "pill state-" + (msg.estop ? "failed" : st);
  $("estop").textContent = msg.estop ? "RELEASE E-STOP" : "E-STOP";
  $("estop").classList.toggle("engaged", !!msg.estop);
  $("odom").textContent = `x ${msg.odom[0].toFixed(3)}  y ${msg.odom[1].toFixed(3)}  yaw ${(msg.odom[2] * 180 / Math.PI).toFixed(1)}°`;
  $("odom").dataset.x = msg.odom[0]; $("odom").dataset.y = msg.odom[1]; $("odom").dataset.yaw = msg.odom[2];
  $("arm").textContent = `x ${msg.arm[0].toFixed(3)}  z ${msg.arm[1].toFixed(3)}  grip ${msg.arm[2].toFixed(2)}`;
  $("teleop-state").textContent = msg.teleop;
  renderPlan(msg.plan, msg.status);
  const fb = msg.feedback;
  $("feedback").textContent = fb && st === "executing" ? `${fb.skill} ${(fb.progress * 100).toFixed(0)}% ${fb.message || ""}` : "";
  const rec = msg.recording || {};
  $("rec-state").textContent = rec.active ? `recording ${rec.call} · ${rec.steps} steps` : "off";
  $("rec-start").disabled = !!rec.active;
  $("rec-stop").disabled = !rec.active;
  $("rec-discard").disabled = !rec.active;
  if (rec.last_saved) {
    const s = rec.last_saved;
    $("rec-last").textContent = `last: ${s.file} · ${s.skill} · ${s.steps} steps · ${s.success ? "postcondition met" : "postcondition not met"}`;
  }
}

function renderPlan(plan, status) {
  const list = $("plan");
  if (!plan) { list.innerHTML = ""; return; }
  $("instruction").textContent = plan.instruction;
  const n = plan.steps.length;
  $("plan-meta").textContent = `${n} step${n === 1 ? "" : "s"} · ${plan.planner || "planner"}`;
  const html = plan.steps.map((s, i) => {
    const cls = plan.states[i] || "pending";
    return `<li class="${cls}" data-state="${cls}"><span class="tag">${cls}</span>${escapeHtml(s.text)}</li>`;
  }).join("");
  if (list.innerHTML !== html) list.innerHTML = html;
}

function escapeHtml(t) {
  return t.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function addLog(line) {
  const box = $("log");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
  const div = document.createElement("div");
  if (line.level === "error") div.className = "error";
  const t = new Date(line.time * 1000).toLocaleTimeString();
  div.innerHTML = `<span class="time">${t}</span>`;
  div.appendChild(document.createTextNode(line.text));
  box.appendChild(div);
  while (box.childNodes.length > 400) box.removeChild(box.firstChild);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

let toastTimer = null;
function showError(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove("show"), 4000);
  const now = Date.now();
  if (text !== lastRefusal.text || now - lastRefusal.at > 5000) {  // a held key repeats its refusal
    addLog({ time: now / 1000, level: "error", text: "refused: " + text });
  }
  lastRefusal = { text, at: now };
}
let lastRefusal = { text: "", at: 0 };

// ------------------------------------------------------------------ task, correction, buttons
$("task-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("task").value.trim();
  if (text && send({ type: "task", text })) $("task").value = "";
});
$("correction-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("correction").value.trim();
  if (text && send({ type: "correction", text })) $("correction").value = "";
});
$("stop").onclick = () => send({ type: "stop" });
$("resume").onclick = () => send({ type: "resume" });
$("estop").onclick = () => send({ type: "estop", engaged: !(state && state.estop) });

// ------------------------------------------------------------------ recording
function renderArgs() {
  const box = $("rec-args");
  box.innerHTML = "";
  const s = skills.find((k) => k.name === $("rec-skill").value);
  if (!s) return;
  for (const a of s.args) {
    let el;
    if (a.choices && a.choices.length) {
      el = document.createElement("select");
      for (const c of a.choices) { const o = document.createElement("option"); o.value = c; o.textContent = c; el.appendChild(o); }
    } else {
      el = document.createElement("input");
      el.placeholder = a.name + (a.required ? "" : " (optional)");
      if (a.kind === "distance_m") el.type = "number";
    }
    el.dataset.arg = a.name; el.dataset.kind = a.kind; el.title = a.kind;
    box.appendChild(el);
  }
}
$("rec-skill").addEventListener("change", renderArgs);
$("rec-start").onclick = () => {
  const args = {};
  for (const el of $("rec-args").querySelectorAll("[data-arg]")) {
    if (el.value.trim() === "") continue;
    args[el.dataset.arg] = el.dataset.kind === "distance_m" ? Number(el.value) : el.value.trim();
  }
  send({ type: "record", action: "start", skill: $("rec-skill").value, args });
};
$("rec-stop").onclick = () => send({ type: "record", action: "stop" });
$("rec-discard").onclick = () => send({ type: "record", action: "discard" });

// ------------------------------------------------------------------ teleop: keyboard and gamepad
const TELEOP_KEYS = new Set(["w", "a", "s", "d", "q", "e", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", " "]);

function typing(e) {
  const t = e.target;
  return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
}
function keyName(e) { return e.key.length === 1 ? e.key.toLowerCase() : e.key; }

window.addEventListener("keydown", (e) => {
  if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = keyName(e);
  if (!TELEOP_KEYS.has(k)) return;
  e.preventDefault();
  if (k === " ") { if (!e.repeat) toggleGripper(); return; }
  keys.add(k);
  teleopTick();
});
window.addEventListener("keyup", (e) => { keys.delete(keyName(e)); });
window.addEventListener("blur", () => keys.clear());

function toggleGripper() {
  const measured = state ? state.arm[2] : 1.0;
  const current = gripperOpen === null ? (measured > 0.5 ? 1.0 : 0.0) : gripperOpen;
  gripperOpen = current > 0.5 ? 0.0 : 1.0;
  send({ type: "teleop", base: [0, 0, 0], arm: [0, 0], gripper: gripperOpen });
}

function axis(v) { return Math.abs(v) < DEADZONE ? 0 : Math.max(-1, Math.min(1, v)); }

function gamepadCommand() {
  const pads = navigator.getGamepads ? Array.from(navigator.getGamepads()).filter(Boolean) : [];
  if (!pads.length) { $("gamepad").textContent = "none"; return null; }
  const p = pads[0];
  $("gamepad").textContent = p.id.slice(0, 24);
  const a = p.axes;
  // Left stick: drive (up = forward, sideways = strafe); right stick: x turns, y moves the gripper up/down;
  // bumpers: gripper in/out; A (button 0): open/close the gripper.
  const base = [-axis(a[1] || 0), -axis(a[0] || 0), -axis(a[2] || 0)];
  const btn = (i) => !!(p.buttons[i] && p.buttons[i].pressed);
  const arm = [(btn(5) ? 1 : 0) - (btn(4) ? 1 : 0), -axis(a[3] || 0)];
  if (btn(0) && !padButtonDown) toggleGripper();
  padButtonDown = btn(0);
  return { base, arm };
}

function teleopTick() {
  const k = (name) => (keys.has(name) ? 1 : 0);
  let base = [k("w") - k("s"), k("q") - k("e"), k("a") - k("d")];
  let arm = [k("ArrowRight") - k("ArrowLeft"), k("ArrowUp") - k("ArrowDown")];
  const pad = gamepadCommand();
  if (pad) {
    base = base.map((v, i) => Math.max(-1, Math.min(1, v + pad.base[i])));
    arm = arm.map((v, i) => Math.max(-1, Math.min(1, v + pad.arm[i])));
  }
  const active = base.some((v) => v !== 0) || arm.some((v) => v !== 0);
  if (active || wasActive) {  // while driving, and one all-zero message on release
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "teleop", base, arm, gripper: null }));
  }
  wasActive = active;
}
setInterval(teleopTick, TELEOP_PERIOD_MS);
window.addEventListener("gamepadconnected", (e) => { $("gamepad").textContent = e.gamepad.id.slice(0, 24); });

connect();
