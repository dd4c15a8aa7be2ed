// The page of the web-flow tests in Chromium: it starts nothing by itself;
// when the web flow comes back to it with a code (or an error), it calls
// exchangeCode(location.href) and leaves what happened in window.result.
export const WEB_FLOW_PAGE = `<!doctype html><meta charset="utf-8"><title>authd web flow</title>
<script type="module">
  import { AuthdClient, localStorageStorage } from "/client.js";
  const client = new AuthdClient({ baseUrl: "__AUTHD_URL__", storage: localStorageStorage(), autoRefresh: false });
  window.client = client;
  await client.ready;
  const query = new URLSearchParams(location.search);
  if (query.has("code") || query.has("error")) {
    try {
      await client.exchangeCode(location.href);
      const claims = JSON.parse(atob((await client.getAccessToken()).split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      window.result = { signedIn: client.signedIn, amr: claims.amr, identities: await client.identities() };
    } catch (e) {
      window.result = { error: e.code };
    }
  }
  window.ready = true;
</script>`;
