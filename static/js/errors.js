// The one error pattern on the phone, as on the server's pages (templates/_forms.html): the message is
// announced at once (role=alert), the field is marked invalid with the message in its description, and
// focus goes to the field so the person can put it right.
let made = 0;

export function showError(form, message, field = null) {
  const target = field instanceof Element ? field : null;
  let error = form.querySelector(".error-message.js-error");
  if (!error) {
    error = document.createElement("p");
    error.className = "error-message js-error";
    error.setAttribute("role", "alert");
    error.id = `js-error-${++made}`;
    (target ? target.closest(".field") || target : form.querySelector("button[type=submit]")).before(error);
  }
  error.textContent = message;
  if (target) {
    const box = target.closest(".field");
    if (box) box.classList.add("field-error");
    target.setAttribute("aria-invalid", "true");
    const described = (target.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(error.id)) target.setAttribute("aria-describedby", [error.id, ...described].join(" "));
    target.focus();
  }
  return error;
}

// Take the error off a form once it is put right.
export function clearErrors(form) {
  form.querySelectorAll(".error-message.js-error").forEach((error) => {
    form.querySelectorAll(`[aria-describedby~="${error.id}"]`).forEach((field) => {
      field.removeAttribute("aria-invalid");
      const rest = field.getAttribute("aria-describedby").split(" ").filter((id) => id && id !== error.id);
      if (rest.length) field.setAttribute("aria-describedby", rest.join(" "));
      else field.removeAttribute("aria-describedby");
    });
    error.remove();
  });
  form.querySelectorAll(".field-error").forEach((box) => box.classList.remove("field-error"));
}
