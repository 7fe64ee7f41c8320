import * as assert from "assert";
import {
    AddressClass,
    classifyBindAddress,
    classifyListenAddress,
    classifyListenUrls,
    Reach,
} from "../../core/addresses";

describe("core/addresses: classifyBindAddress", () => {
    // [value, class, canonical form (or reason fragment for "unparsable")]
    const table: [unknown, AddressClass, string][] = [
        // IPv4 unspecified, in every notation people write
        ["0.0.0.0", "all-interfaces", "0.0.0.0"],
        ["0.0.0.0 ", "all-interfaces", "0.0.0.0"],
        ["  0.0.0.0\t", "all-interfaces", "0.0.0.0"],
        ["0", "all-interfaces", "0.0.0.0"],
        ["00", "all-interfaces", "0.0.0.0"],
        ["0.0", "all-interfaces", "0.0.0.0"],
        ["000.000.000.000", "all-interfaces", "0.0.0.0"],
        ["0x0", "all-interfaces", "0.0.0.0"],
        [0, "all-interfaces", "0.0.0.0"], // YAML `bind-address: 0`
        // IPv6 unspecified
        ["::", "all-interfaces", "::"],
        ["[::]", "all-interfaces", "::"],
        ["::0", "all-interfaces", "::"],
        ["0::", "all-interfaces", "::"],
        ["0000::", "all-interfaces", "::"],
        ["0:0:0:0:0:0:0:0", "all-interfaces", "::"],
        ["0000:0000:0000:0000:0000:0000:0000:0000", "all-interfaces", "::"],
        ["::0.0.0.0", "all-interfaces", "::"],
        ["::%eth0", "all-interfaces", "::"],
        [" :: ", "all-interfaces", "::"],
        // IPv4-mapped unspecified: Go listens on IPv4 0.0.0.0
        ["::ffff:0.0.0.0", "all-interfaces", "::ffff:0.0.0.0"],
        ["::FFFF:0.0.0.0", "all-interfaces", "::ffff:0.0.0.0"],
        ["::ffff:0:0", "all-interfaces", "::ffff:0.0.0.0"],
        ["0:0:0:0:0:ffff:0000:0000", "all-interfaces", "::ffff:0.0.0.0"],
        // specific addresses pass
        ["127.0.0.1", "specific", "127.0.0.1"],
        ["10.0.0.5", "specific", "10.0.0.5"],
        ["010.000.000.005", "specific", "10.0.0.5"], // ParseIPSloppy reads leading zeros as decimal
        ["192.168.1.1 ", "specific", "192.168.1.1"],
        ["255.255.255.255", "specific", "255.255.255.255"],
        ["0.0.0.1", "specific", "0.0.0.1"],
        ["::1", "specific", "::1"],
        ["0:0:0:0:0:0:0:1", "specific", "::1"],
        ["FD00:0:0:0:0:0:0:10", "specific", "fd00::10"],
        ["2001:db8::1", "specific", "2001:db8::1"],
        ["2001:db8:0:0:1:0:0:1", "specific", "2001:db8::1:0:0:1"],
        ["::ffff:127.0.0.1", "specific", "::ffff:7f00:1"],
        ["1::", "specific", "1::"],
        // not IP addresses (each a violation of its own kind)
        ["", "unparsable", "empty"],
        ["   ", "unparsable", "empty"],
        ["localhost", "unparsable", "host name"],
        ["eth0", "unparsable", "interface name"],
        ["kube-scheduler.local", "unparsable", "host or interface name"],
        ["999.1.1.1", "unparsable", "not a valid IPv4 address"],
        ["256.0.0.1", "unparsable", "not a valid IPv4 address"],
        ["1.2.3", "unparsable", "not a valid IPv4 address"],
        ["127.1", "unparsable", "not a valid IPv4 address"],
        ["0.0.0.0.0", "unparsable", "not an IP address"],
        ["0.0.0.0:10259", "unparsable", "no ports"],
        ["[::]:10259", "unparsable", "no ports"],
        ["0.0.0.0/0", "unparsable", "prefix lengths"],
        ["*", "unparsable", "not an IP address"],
        ["[::1]", "unparsable", "brackets"],
        ["fe80::1%eth0", "unparsable", "zone index"],
        ["1::2::3", "unparsable", "not an IP address"],
        ["::g", "unparsable", "not an IP address"],
        [10, "unparsable", "not a valid IPv4 address"],
        [null, "unparsable", "not a string but null"],
        [true, "unparsable", "not a string but boolean"],
        [["0.0.0.0"], "unparsable", "not a string but a list"],
    ];
    for (const [value, expectedClass, expected] of table) {
        it(`${JSON.stringify(value)} -> ${expectedClass} (${expected})`, () => {
            const verdict = classifyBindAddress(value);
            assert.strictEqual(verdict.addressClass, expectedClass, JSON.stringify(verdict));
            if (expectedClass === "unparsable") {
                assert.ok(
                    verdict.reason?.includes(expected),
                    `reason ${JSON.stringify(verdict.reason)} lacks ${JSON.stringify(expected)}`,
                );
                assert.strictEqual(verdict.canonical, undefined);
            } else {
                assert.strictEqual(verdict.canonical, expected);
                assert.strictEqual(verdict.reason, undefined);
            }
        });
    }

    it("reports the address family", () => {
        assert.strictEqual(classifyBindAddress("0.0.0.0").family, 4);
        assert.strictEqual(classifyBindAddress("[::]").family, 6);
        assert.strictEqual(classifyBindAddress("10.0.0.5").family, 4);
        assert.strictEqual(classifyBindAddress("::1").family, 6);
    });
});

describe("core/addresses: classifyListenAddress, classifyListenUrls", () => {
    // [value, reach, host, port]
    const table: [unknown, Reach, string, string | undefined][] = [
        ["0.0.0.0:10249", "all-interfaces", "0.0.0.0", "10249"],
        [":10249", "all-interfaces", "", "10249"],
        ["[::]:10249", "all-interfaces", "[::]", "10249"],
        ["10249", "all-interfaces", "", "10249"],
        [10249, "all-interfaces", "", "10249"], // YAML number
        ["0.0.0.0/0:10249", "all-interfaces", "0.0.0.0/0", "10249"],
        ["::/0", "all-interfaces", "::/0", undefined],
        ["::", "all-interfaces", "::", undefined],
        ["*:8080", "all-interfaces", "*", "8080"],
        ["127.0.0.1:10249", "loopback", "127.0.0.1", "10249"],
        ["127.0.0.2:10249", "loopback", "127.0.0.2", "10249"],
        ["[::1]:10249", "loopback", "[::1]", "10249"],
        ["localhost:8080", "loopback", "localhost", "8080"],
        ["127.0.0.0/8", "loopback", "127.0.0.0/8", undefined],
        ["10.0.0.5:10249", "specific", "10.0.0.5", "10249"],
        ["10.0.0.0/8:10249", "specific", "10.0.0.0/8", "10249"],
        ["[fd00::5]:10249", "specific", "[fd00::5]", "10249"],
        ["$(NODE_IP):10249", "unparsable", "$(NODE_IP)", "10249"],
        ["node-1:10249", "unparsable", "node-1", "10249"],
    ];
    for (const [value, reach, host, port] of table) {
        it(`${JSON.stringify(value)} -> ${reach}`, () => {
            const verdict = classifyListenAddress(value);
            assert.deepStrictEqual([verdict.reach, verdict.host, verdict.port], [reach, host, port], verdict.reason);
        });
    }

    it("splits URL lists and reads each scheme; unix sockets are local", () => {
        assert.deepStrictEqual(
            classifyListenUrls("http://127.0.0.1:2381, https://[::]:2382,unix://metrics.sock,not a url").map((u) => [
                u.url,
                u.scheme,
                u.verdict.reach,
            ]),
            [
                ["http://127.0.0.1:2381", "http", "loopback"],
                ["https://[::]:2382", "https", "all-interfaces"],
                ["unix://metrics.sock", "unix", "loopback"],
                ["not a url", "", "unparsable"],
            ],
        );
    });
});
