// A sign-out made with no signal (local.js) is finished on the server the next time a page opens with one.
// No imports: app.js runs this before anything else, the lock screen included.

export const SIGN_OUT_PENDING = "dnh-sign-out-pending";  // holds the username of the person who signed out

// Resolve with whether this phone's session was ended now (the page should then go to the sign-in page).
export async function finishSignOut() {
  const pending = localStorage.getItem(SIGN_OUT_PENDING);
  if (!pending || !navigator.onLine) return false;
  const session = await fetch("/api/v1/session", { credentials: "same-origin" }).catch(() => null);
  if (!session) return false;
  const me = session.ok ? await session.json() : null;
  const theirs = Boolean(me && me.user === pending);  // not someone who signed in since on this phone
  if (theirs) {
    const body = new URLSearchParams({ csrf_token: me.csrf_token });
    const done = await fetch("/logout", { method: "POST", body, credentials: "same-origin", redirect: "manual" })
      .catch(() => null);
    if (!done) return false;
  }
  localStorage.removeItem(SIGN_OUT_PENDING);  // signed out on the server now (or that session had ended)
  return theirs;
}
