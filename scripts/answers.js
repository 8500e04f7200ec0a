// Usage: node scripts/answers.js URL [SECONDS]. Exits 0 once URL answers (any HTTP status below 500: the app
// itself answered, even with a 404); else prints what it got last (502 from the proxy, ECONNREFUSED, …) and exits 1.
const [url, seconds = "15"] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;
(async () => {
    for (;;) {
        let last;
        try {
            const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
            if (response.status < 500) process.exit(0);
            last = `HTTP ${response.status}`;
        } catch (err) {
            last = err.cause?.code ?? err.name ?? String(err);
        }
        if (Date.now() > deadline) {
            console.log(last);
            process.exit(1);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
})();
