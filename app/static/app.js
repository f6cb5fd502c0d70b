"use strict";
// The reference application: every change is a JSON request to our own API (the API refuses
// state changes without a JSON body or the X-Session-Request header: see app/requests.py).
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const init = { method, headers: { "X-Session-Request": "1" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function say(text) { $("message").textContent = text || ""; }

function when(epochSeconds) { return new Date(epochSeconds * 1000).toLocaleString(); }

async function refresh() {
  const me = await api("GET", "/api/session");
  const session = me.status === 200 ? me.body : null;
  const signedIn = session !== null && session.authenticated;
  $("anonymous").hidden = signedIn;
  $("sign-in-section").hidden = signedIn;
  $("signed-in").hidden = !signedIn;
  const cart = session && Array.isArray(session.data.cart) ? session.data.cart.length : 0;
  $("cart-count").textContent = String(cart);
  if (!session) {
    $("status").textContent = "No session yet.";
    return;
  }
  $("status").textContent = signedIn ? `Signed in (session ${session.handle.slice(0, 8)}…)` :
    `Anonymous session ${session.handle.slice(0, 8)}…`;
  if (!signedIn) return;
  $("user").textContent = session.user_id;
  $("auth-age").textContent = String(session.auth_age);
  $("reauth-max-age").textContent = String(session.reauth_max_age);
  const list = await api("GET", "/api/sessions");
  const rows = $("sessions").querySelector("tbody");
  rows.replaceChildren();
  for (const s of list.body.sessions) {
    const row = document.createElement("tr");
    row.dataset.handle = s.handle;
    if (s.current) row.className = "current";
    for (const text of [s.user_agent + (s.current ? " (this device)" : ""), s.client_ip, when(s.created_at), when(s.last_seen_at)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const action = document.createElement("td");
    if (!s.current) {
      const end = document.createElement("button");
      end.type = "button";
      end.textContent = "End";
      end.className = "end-session";
      end.addEventListener("click", () => act("DELETE", `/api/sessions/${s.handle}`));
      action.append(end);
    }
    row.append(action);
    rows.append(row);
  }
}

async function act(method, path, body) {
  const result = await api(method, path, body);
  say(result.status >= 400 ? result.body.error : "");
  await refresh();
  return result;
}

document.addEventListener("DOMContentLoaded", () => {
  $("add-item").addEventListener("click", async () => {
    let me = await api("GET", "/api/session");
    if (me.status !== 200) me = await api("POST", "/api/session", { data: { cart: [] } });
    const cart = Array.isArray(me.body.data.cart) ? me.body.data.cart : [];
    await act("PATCH", "/api/session", { cart: [...cart, `item-${cart.length + 1}`] });
  });
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await act("POST", "/api/sign-in", { username: $("username").value, password: $("password").value });
    if (result.status === 201) $("password").value = "";
  });
  $("step-up-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await act("POST", "/api/step-up", { password: $("step-up-password").value });
    $("step-up-password").value = "";
  });
  $("end-others").addEventListener("click", () => act("DELETE", "/api/sessions/others"));
  $("sign-out").addEventListener("click", () => act("DELETE", "/api/session"));
  $("sign-out-everywhere").addEventListener("click", () => act("DELETE", "/api/users/me/sessions"));
  refresh();
});
