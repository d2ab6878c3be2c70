// The launcher's PMI-1 state machine, driven directly with lines: no processes, no sockets.
import Testing
@testable import FerryPMI

@Suite struct PMIServerStateTests {
    func sends(_ actions: [PMIServerAction]) -> [String] {
        actions.compactMap { if case let .send(_, line) = $0 { return line } else { return nil } }
    }

    @Test func startupExchangeAnswersEveryQuery() {
        let s = PMIServerState(size: 4, kvsName: "job7")
        #expect(sends(s.handle(client: 2, line: "cmd=init pmi_version=1 pmi_subversion=1\n"))
                == ["cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n"])
        #expect(s.hasInitialized(client: 2))
        #expect(!s.hasInitialized(client: 1))
        #expect(sends(s.handle(client: 2, line: "cmd=get_maxes"))
                == ["cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024 rc=0\n"])
        #expect(sends(s.handle(client: 2, line: "cmd=get_my_kvsname")) == ["cmd=my_kvsname kvsname=job7 rc=0\n"])
        #expect(sends(s.handle(client: 2, line: "cmd=get_appnum")) == ["cmd=appnum appnum=0 rc=0\n"])
        #expect(sends(s.handle(client: 2, line: "cmd=get_universe_size")) == ["cmd=universe_size size=4 rc=0\n"])
    }

    @Test func initackAssignsRankAndSize() {
        let s = PMIServerState(size: 3, kvsName: "k")
        #expect(sends(s.handle(client: 2, line: "cmd=initack pmiid=2"))
                == ["cmd=initack rc=0\n", "cmd=set size=3\n", "cmd=set rank=2\n", "cmd=set debug=0\n"])
        #expect(sends(s.handle(client: 0, line: "cmd=initack pmiid=9")).first?.contains("rc=-1") == true)
    }

    /// Item 5 of the hardening issue: a connection could claim another rank's id with initack
    /// (and so its application number, its barrier place, its finalize).
    @Test("a connection cannot claim another rank's id, nor claim twice")
    func initackCannotImpersonate() {
        let s = PMIServerState(size: 3, kvsName: "k", appnumOfRank: [0, 1, 2])
        #expect(sends(s.handle(client: 0, line: "cmd=initack pmiid=1")) == ["cmd=initack rc=-1 msg=pmiid_not_yours\n"])
        #expect(!s.hasInitialized(client: 0) && !s.hasInitialized(client: 1))
        #expect(sends(s.handle(client: 0, line: "cmd=get_appnum")) == ["cmd=appnum appnum=0 rc=0\n"], "still rank 0's context")
        #expect(sends(s.handle(client: 1, line: "cmd=initack pmiid=1")).first == "cmd=initack rc=0\n")
        #expect(sends(s.handle(client: 1, line: "cmd=initack pmiid=1")) == ["cmd=initack rc=-1 msg=pmiid_not_yours\n"], "only once")
    }

    /// Item 16 of the hardening issue: 300,000 keys took the launcher to 340 MB.
    @Test("the key-value space is bounded per rank: keys and bytes; overwriting a key costs nothing more")
    func kvsBoundedPerRank() {
        let s = PMIServerState(size: 2, kvsName: "k")
        for i in 0..<PMILimits.keysPerRank {
            #expect(sends(s.handle(client: 0, line: "cmd=put kvsname=k key=k\(i) value=v")) == ["cmd=put_result rc=0 msg=success\n"])
        }
        let refused = sends(s.handle(client: 0, line: "cmd=put kvsname=k key=one-more value=v"))
        #expect(refused.count == 1 && refused[0].hasPrefix("cmd=put_result rc=-1 msg=key-value%20space%20limit%20reached"), "\(refused)")
        #expect(sends(s.handle(client: 0, line: "cmd=get kvsname=k key=one-more")).first?.contains("rc=-1") == true)
        // Overwriting one of its own keys is still allowed; another rank has its own budget.
        #expect(sends(s.handle(client: 0, line: "cmd=put kvsname=k key=k7 value=w")) == ["cmd=put_result rc=0 msg=success\n"])
        #expect(sends(s.handle(client: 1, line: "cmd=put kvsname=k key=mine value=v")) == ["cmd=put_result rc=0 msg=success\n"])
        // Bytes: 1 KiB values run out at 1 MiB per rank, before the key count does.
        let big = String(repeating: "x", count: 1000)
        var accepted = 0
        while sends(s.handle(client: 1, line: "cmd=put kvsname=k key=b\(accepted) value=\(big)")).first == "cmd=put_result rc=0 msg=success\n" {
            accepted += 1
            if accepted > 2000 { break }
        }
        #expect(accepted > 1000 && accepted < 1050, "accepted \(accepted) values of 1000 bytes")
    }

    @Test func putBarrierGetAcrossThreeClients() {
        let s = PMIServerState(size: 3, kvsName: "k")
        for c in 0..<3 {
            #expect(sends(s.handle(client: c, line: "cmd=put kvsname=k key=card\(c) value=addr\(c)"))
                    == ["cmd=put_result rc=0 msg=success\n"])
        }
        #expect(s.handle(client: 0, line: "cmd=barrier_in").isEmpty)
        #expect(s.handle(client: 2, line: "cmd=barrier_in").isEmpty)
        #expect(s.barrierWaiters == 2)
        let out = s.handle(client: 1, line: "cmd=barrier_in")
        #expect(out == (0..<3).map { .send(client: $0, line: "cmd=barrier_out rc=0\n") })
        #expect(s.barrierWaiters == 0)
        #expect(sends(s.handle(client: 0, line: "cmd=get kvsname=k key=card2"))
                == ["cmd=get_result rc=0 msg=success value=addr2\n"])
        // A second barrier works the same way.
        #expect(s.handle(client: 1, line: "cmd=barrier_in").isEmpty)
        #expect(s.handle(client: 0, line: "cmd=barrier_in").isEmpty)
        #expect(s.handle(client: 2, line: "cmd=barrier_in").count == 3)
    }

    @Test func escapedValuesRoundTripThroughTheStore() throws {
        let s = PMIServerState(size: 1, kvsName: "k")
        let put = PMIMessage("put", ["kvsname": "k", "key": "x", "value": "a b=c%"])
        _ = s.handle(client: 0, line: put.line)
        let reply = try PMIWire.parse(sends(s.handle(client: 0, line: "cmd=get kvsname=k key=x"))[0])
        #expect(reply["value"] == "a b=c%")
    }

    @Test func missingKeyAndWrongKvsAreErrors() {
        let s = PMIServerState(size: 2, kvsName: "k")
        #expect(sends(s.handle(client: 0, line: "cmd=get kvsname=k key=nope"))
                == ["cmd=get_result rc=-1 msg=key_not_found\n"])
        #expect(sends(s.handle(client: 0, line: "cmd=get kvsname=other key=nope"))
                == ["cmd=get_result rc=-1 msg=unknown_kvsname\n"])
        let long = String(repeating: "v", count: PMILimits.valueMaxBytes + 1)
        #expect(sends(s.handle(client: 0, line: "cmd=put kvsname=k key=a value=\(long)"))
                == ["cmd=put_result rc=-1 msg=value_too_long\n"])
    }

    @Test func processMappingIsReserved() {
        let s = PMIServerState(size: 5, kvsName: "k")
        #expect(sends(s.handle(client: 3, line: "cmd=get kvsname=k key=PMI_process_mapping"))
                == ["cmd=get_result rc=0 msg=success value=(vector,(0,1,5))\n"])
    }

    @Test func unknownAndMalformedLinesGetErrorReplies() {
        let s = PMIServerState(size: 1, kvsName: "k")
        #expect(sends(s.handle(client: 0, line: "cmd=spawn foo=1")) == ["cmd=spawn_result rc=-1 msg=unknown_command\n"])
        #expect(sends(s.handle(client: 0, line: "not a pmi line")) == ["cmd=error rc=-1 msg=malformed_line\n"])
        #expect(sends(s.handle(client: 0, line: [0xff, 0x00, 0x3d])) == ["cmd=error rc=-1 msg=malformed_line\n"])
    }

    @Test func abortAndFinalizeBecomeActions() {
        let s = PMIServerState(size: 2, kvsName: "k")
        #expect(s.handle(client: 1, line: "cmd=abort exitcode=5") == [.abort(client: 1, exitCode: 5)])
        #expect(s.handle(client: 0, line: "cmd=abort") == [.abort(client: 0, exitCode: 1)])
        #expect(s.handle(client: 0, line: "cmd=finalize")
                == [.send(client: 0, line: "cmd=finalize_ack rc=0\n"), .finalized(client: 0)])
        #expect(s.hasFinalized(client: 0))
        #expect(!s.hasFinalized(client: 1))
    }

    @Test func randomLinesNeverTrap() {
        let s = PMIServerState(size: 3, kvsName: "k")
        var rng = SplitMix64(seed: 42)
        let words = ["cmd=put", "cmd=get", "cmd=barrier_in", "cmd=init", "kvsname=k", "key=a", "value=b",
                     "pmiid=1", "cmd=initack", "cmd=", "=", "%", "x", " "]
        for _ in 0..<5000 {
            let line = (0..<Int(rng.next() % 6)).map { _ in words[Int(rng.next() % UInt64(words.count))] }
                .joined(separator: " ")
            _ = s.handle(client: Int(rng.next() % 3), line: line)
        }
    }
}
