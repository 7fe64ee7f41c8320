import { strict as assert } from "assert";
import {
    changesNothing,
    describeForecast,
    forecast,
    nextPeriodStart,
    phaseOf,
    planStep,
    renewalPeriod,
    TEST_CLOCK_ENV,
    TlsPolicy,
    TlsView,
    tlsNow,
} from "../../components/tlsSchedule";

const DAY = 24 * 3600 * 1000;
const policy: TlsPolicy = { serverName: "eksa-metrics-metrics-proxy", validityDays: 90, caValidityDays: 3650 };
// A period boundary: 60-day periods counted from the Unix epoch.
const T0 = new Date(60 * DAY * 10000);
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const iso = (days: number) => at(days).toISOString();
const period = (days: number) => renewalPeriod(policy.validityDays, at(days));

/** A state as the command leaves it: one CA issued at `caDay`, a serving certificate at `servingDay`. */
function steady(caDay: number, servingDay: number, caValidityDays = policy.caValidityDays): TlsView {
    return {
        cas: [{ notBefore: iso(caDay), notAfter: iso(caDay + caValidityDays), publishedAt: iso(caDay), hasKey: true }],
        signer: 0,
        serving: {
            notBefore: iso(servingDay),
            notAfter: iso(servingDay + 90),
            serverName: policy.serverName,
            period: period(servingDay),
        },
    };
}

function bundle(view: TlsView, publishedDay: number): TlsView {
    return {
        ...view,
        cas: [
            ...view.cas,
            {
                notBefore: iso(publishedDay),
                notAfter: iso(publishedDay + 3650),
                publishedAt: iso(publishedDay),
                hasKey: true,
            },
        ],
    };
}

describe("TLS schedule (pure)", () => {
    it("cuts time into renewal periods of two thirds of the serving validity", () => {
        assert.equal(period(0), period(59.99));
        assert.notEqual(period(59.99), period(60));
        assert.match(period(0), /^60d#\d+$/);
        // A changed validity is a new period, whatever the time.
        assert.notEqual(renewalPeriod(30, at(0)), renewalPeriod(90, at(0)));
        assert.equal(nextPeriodStart(90, at(10)).toISOString(), iso(60));
        assert.equal(nextPeriodStart(90, at(0)).toISOString(), iso(60));
    });

    it("issues a CA and a serving certificate when nothing is stored", () => {
        const step = planStep(undefined, at(0), period(0), policy);
        assert.deepEqual(
            { ...step, reasons: undefined },
            { dropOldCas: false, issueCa: true, switchSigner: true, renewServing: true, reasons: undefined },
        );
    });

    it("changes nothing within a renewal period: an unchanged up is a no-op", () => {
        const step = planStep(steady(0, 0), at(59), period(59), policy);
        assert.ok(changesNothing(step), JSON.stringify(step));
        assert.deepEqual(step.reasons, []);
    });

    it("renews the serving certificate in a new period with the same CA", () => {
        const step = planStep(steady(0, 0), at(60), period(60), policy);
        assert.deepEqual(
            { ...step, reasons: undefined },
            { dropOldCas: false, issueCa: false, switchSigner: false, renewServing: true, reasons: undefined },
        );
        assert.deepEqual(step.reasons, ["a new renewal period"]);
    });

    it("renews on a new server name or an expired certificate, within the period", () => {
        assert.ok(planStep(steady(0, 0), at(1), period(1), { ...policy, serverName: "other" }).renewServing);
        const stale = { ...steady(0, 0), serving: { ...steady(0, 0).serving, notAfter: iso(1) } };
        assert.deepEqual(planStep(stale, at(2), period(2), policy).reasons, ["the serving certificate has expired"]);
    });

    it("publishes a bundle with a new CA from two thirds of the CA's life on, and keeps signing with the old one", () => {
        // 3650 * 2/3 = 2433.3 days, in the period of days 2400-2460: judged at a period's start, so from day 2460 on.
        assert.equal(planStep(steady(0, 2340), at(2430), period(2430), policy).issueCa, false);
        assert.equal(planStep(steady(0, 2340), at(2459), period(2459), policy).issueCa, false);
        const step = planStep(steady(0, 2340), at(2460), period(2460), policy);
        assert.equal(step.issueCa, true);
        assert.equal(step.switchSigner, false, "the proxies keep the old CA's certificate");
        assert.equal(step.renewServing, true, "a new period still renews, with the old CA");
        assert.equal(phaseOf(bundle(steady(0, 2340), 2460)), "bundle published");
    });

    it("decides the same wherever in a period its first up runs, as the forecast made for the period's start", () => {
        const moved: TlsView = { ...bundle(steady(0, 2400), 2460), signer: 1, switchedInPeriod: period(2580) };
        // Before, at and after the CA's two thirds (day 2433.3); the bundle's overlap; the move; the drop.
        const states: [TlsView, number][] = [
            [steady(0, 2340), 2400],
            [steady(0, 2400), 2460],
            [bundle(steady(0, 2460), 2460), 2520],
            [bundle(steady(0, 2520), 2460), 2580],
            [moved, 2640],
        ];
        for (const [view, start] of states) {
            const expected = forecast(view, at(start - 1), policy).nextRenewal.caStep;
            for (const d of [start, start + 0.5, start + 30, start + 59.9]) {
                const step = planStep(view, at(d), period(d), policy);
                const taken = step.issueCa
                    ? "publishes a bundle with a new CA"
                    : step.switchSigner
                      ? "moves the proxies to the new CA"
                      : step.dropOldCas
                        ? "drops the old CA from the bundle"
                        : undefined;
                assert.equal(taken, expected, `day ${d}`);
                assert.equal(step.renewServing, true, `day ${d}`);
            }
        }
    });

    it("moves the proxies to the new CA only once the bundle has been published for the overlap", () => {
        const published = bundle(steady(0, 2400), 2440);
        // The next period begins on day 2460: 20 days after the bundle, less than the 60-day overlap.
        const early = planStep(published, at(2460), period(2460), policy);
        assert.equal(early.switchSigner, false);
        assert.equal(early.renewServing, true, "renewed with the old CA");
        const late = planStep(published, at(2520), period(2520), policy);
        assert.equal(late.switchSigner, true);
        assert.equal(late.renewServing, true);
        assert.match(late.reasons.join(), /move to the new CA \(bundle published 80 days ago\)/);
        // Whole periods: anywhere in the period after the bundle's, still not; the first up of the one after, whenever.
        assert.equal(planStep(published, at(2519), period(2519), policy).switchSigner, false);
        assert.equal(planStep(published, at(2579), period(2579), policy).switchSigner, true);
    });

    it("drops the old CA in a period after the move, not in the period of the move", () => {
        const moved: TlsView = { ...bundle(steady(0, 2400), 2440), signer: 1, switchedInPeriod: period(2520) };
        moved.serving = { ...moved.serving, notBefore: iso(2520), notAfter: iso(2610), period: period(2520) };
        assert.equal(phaseOf(moved), "moved to the new CA");
        assert.ok(changesNothing(planStep(moved, at(2570), period(2570), policy)));
        const step = planStep(moved, at(2580), period(2580), policy);
        assert.equal(step.dropOldCas, true);
        assert.equal(step.issueCa, false, "the new CA is young");
        assert.equal(step.renewServing, true);
    });

    it("replaces a CA that ends too soon to sign at once, and moves the proxies when their certificate must go", () => {
        // A 100-day CA cannot sign a 90-day certificate after day 10.
        const ending = steady(0, 0, 100);
        const step = planStep(ending, at(60), period(60), policy);
        assert.equal(step.issueCa, true);
        // Their certificate ends on day 90, before the next period (day 120) and its margin: no overlap possible.
        assert.equal(step.switchSigner, true);
        assert.equal(step.renewServing, true);
        assert.match(step.reasons.join(), /ends too soon to sign.*cannot sign/);
    });

    describe("a stack deployed before the CA's key was kept", () => {
        // Its CA signed its serving certificate (365 days, as that version's default) and its key is gone.
        const legacy = (servingDay: number): TlsView => ({
            cas: [
                {
                    notBefore: iso(servingDay),
                    notAfter: iso(servingDay + 365),
                    publishedAt: iso(servingDay),
                    hasKey: false,
                },
            ],
            signer: 0,
            serving: {
                notBefore: iso(servingDay),
                notAfter: iso(servingDay + 365),
                serverName: policy.serverName,
                period: "before the CA was kept",
            },
        });

        it("first publishes a bundle that still holds today's CA, and keeps today's certificate", () => {
            const step = planStep(legacy(-100), at(0), period(0), policy);
            assert.deepEqual(
                { ...step, reasons: undefined },
                { dropOldCas: false, issueCa: true, switchSigner: false, renewServing: false, reasons: undefined },
            );
            assert.match(step.reasons.join(), /key was not kept/);
        });

        it("moves after the overlap, like any CA replacement", () => {
            const published = bundle(legacy(-100), 0);
            assert.ok(changesNothing(planStep(published, at(30), period(30), policy)));
            assert.equal(planStep(published, at(60), period(60), policy).switchSigner, false);
            assert.equal(planStep(published, at(120), period(120), policy).switchSigner, true);
        });

        it("moves early only when today's certificate would not last into the next period by a third of the validity", () => {
            // Issued 300 days ago: it expires on day 65, before the next period (day 60) + 30 days.
            const step = planStep(legacy(-300), at(0), period(0), policy);
            assert.equal(step.issueCa, true);
            assert.equal(step.switchSigner, true);
            assert.equal(step.renewServing, true);
            const renamed = planStep(legacy(-100), at(0), period(0), { ...policy, serverName: "other" });
            assert.equal(renamed.switchSigner, true, "a certificate for the old name cannot be kept");
        });
    });

    it("forecasts the next up and the expiries, and says it in one line", () => {
        const view = steady(0, 0);
        const f = forecast(view, at(20), policy);
        assert.deepEqual(f, {
            phase: "single CA",
            servingCertificate: { notAfter: iso(90), expiresInDays: 70 },
            ca: { notAfter: iso(3650), expiresInDays: 3630 },
            nextRenewal: { at: iso(60), inDays: 40 },
        });
        assert.equal(
            describeForecast(f),
            `proxy TLS: the serving certificate expires ${iso(90).slice(0, 10)} (in 70 days), the CA ${iso(3650).slice(0, 10)} (in 3630 days; single CA); the first pulumi up from ${iso(60).slice(0, 10)} (in 40 days) renews the serving certificate and leaves the CA`,
        );
        // The up that will publish a bundle says so beforehand.
        assert.equal(
            forecast(steady(0, 2400), at(2410), policy).nextRenewal.caStep,
            "publishes a bundle with a new CA",
        );
        const published = bundle(steady(0, 2400), 2440);
        assert.equal(forecast(published, at(2470), policy).nextRenewal.caStep, "moves the proxies to the new CA");
    });

    it("reads now from the real clock, or from the test clock", () => {
        assert.equal(tlsNow({ [TEST_CLOCK_ENV]: "2030-01-02T03:04:05Z" }).toISOString(), "2030-01-02T03:04:05.000Z");
        assert.ok(Math.abs(tlsNow({}).getTime() - Date.now()) < 1000);
        assert.throws(
            () => tlsNow({ [TEST_CLOCK_ENV]: "tomorrow" }),
            /EKSA_METRICS_TEST_NOW="tomorrow" is not an ISO-8601 time/,
        );
    });
});
