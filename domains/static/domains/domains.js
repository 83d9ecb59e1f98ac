// Domains pages: open and close the edit form under an rrset of the records table.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-edit-toggle], [data-edit-cancel]");
  if (!toggle) return;
  const group = toggle.closest("tbody.dns-rrset");
  const row = group && group.querySelector(".dns-edit-row");
  if (!row) return;
  const open = toggle.hasAttribute("data-edit-toggle") ? row.hidden : false;
  row.hidden = !open;
  const button = group.querySelector("[data-edit-toggle]");
  button.setAttribute("aria-expanded", String(open));
  if (open) row.querySelector("textarea").focus();
  else button.focus();
});
