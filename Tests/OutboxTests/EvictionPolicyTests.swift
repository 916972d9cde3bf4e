import Foundation
import Outbox
import Testing

@Suite struct EvictionPolicyTests {
    var ids: [ItemID] = (0..<20).map { ItemID.make(at: Date(timeIntervalSince1970: 1_700_000_000 + Double($0))) }

    func candidate(_ index: Int, kind: ItemKind, priority: PriorityClass = .periodic, bytes: Int64 = 100) -> EvictionPolicy.Candidate {
        EvictionPolicy.Candidate(id: ids[index], rank: ItemRank.of(kind: kind, priority: priority),
                                 createdAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)), bytes: bytes)
    }

    @Test func ranksFollowTheIssueOrder() {
        let ranks = [
            ItemRank.of(kind: .sample, priority: .alarm), ItemRank.of(kind: .snapshot, priority: .periodic),
            ItemRank.of(kind: .status, priority: .periodic), ItemRank.of(kind: .snapshot, priority: .alarm), ItemRank.of(kind: .alarm, priority: .periodic),
        ]
        #expect(ranks == ranks.sorted())
        #expect(Set(ranks).count == 5)
    }

    @Test func admitsWithoutEvictionWhenItFits() {
        let policy = EvictionPolicy(maxBytes: 1000, maxItems: 10)
        let decision = policy.decide(usage: .init(items: 5, bytes: 500), incoming: candidate(10, kind: .sample), candidates: [candidate(0, kind: .sample)])
        #expect(decision == .admit(evicting: []))
    }

    @Test func evictsSamplesThenPeriodicThenAlarmSnapshotsOldestFirst() {
        let policy = EvictionPolicy(maxBytes: 600, maxItems: 100)
        let queue = [
            candidate(0, kind: .alarm), candidate(1, kind: .snapshot, priority: .alarm), candidate(2, kind: .snapshot),
            candidate(3, kind: .sample), candidate(4, kind: .sample), candidate(5, kind: .snapshot),
        ]
        // Full (600 of 600): an alarm of 300 bytes needs three victims.
        let decision = policy.decide(usage: .init(items: 6, bytes: 600), incoming: candidate(10, kind: .alarm, bytes: 300), candidates: queue.shuffled())
        #expect(decision == .admit(evicting: [ids[3], ids[4], ids[2]]))
        let more = policy.decide(usage: .init(items: 6, bytes: 600), incoming: candidate(10, kind: .alarm, bytes: 500), candidates: queue)
        #expect(more == .admit(evicting: [ids[3], ids[4], ids[2], ids[5], ids[1]]))
    }

    @Test func alarmsGoOnlyWhenNothingElseRemains() {
        let policy = EvictionPolicy(maxBytes: 300, maxItems: 100)
        let queue = [candidate(0, kind: .alarm), candidate(1, kind: .alarm), candidate(2, kind: .snapshot, priority: .alarm)]
        #expect(policy.decide(usage: .init(items: 3, bytes: 300), incoming: candidate(10, kind: .alarm), candidates: queue) == .admit(evicting: [ids[2]]))
        let onlyAlarms = [candidate(0, kind: .alarm), candidate(1, kind: .alarm), candidate(3, kind: .alarm)]
        #expect(policy.decide(usage: .init(items: 3, bytes: 300), incoming: candidate(10, kind: .alarm), candidates: onlyAlarms) == .admit(evicting: [ids[0]]))
    }

    @Test func rejectsAnIncomingItemThatRanksBelowEverything() {
        let policy = EvictionPolicy(maxBytes: 300, maxItems: 100)
        let alarms = [candidate(0, kind: .alarm), candidate(1, kind: .alarm), candidate(2, kind: .alarm)]
        #expect(policy.decide(usage: .init(items: 3, bytes: 300), incoming: candidate(10, kind: .sample), candidates: alarms) == .reject)
        // An item larger than the whole budget can never fit.
        #expect(policy.decide(usage: .init(items: 0, bytes: 0), incoming: candidate(10, kind: .alarm, bytes: 301), candidates: []) == .reject)
    }

    @Test func itemCountBudgetEvictsToo() {
        let policy = EvictionPolicy(maxBytes: 1 << 30, maxItems: 3)
        let queue = [candidate(0, kind: .snapshot), candidate(1, kind: .sample), candidate(2, kind: .alarm)]
        #expect(policy.decide(usage: .init(items: 3, bytes: 300), incoming: candidate(10, kind: .status), candidates: queue) == .admit(evicting: [ids[1]]))
    }

    @Test func freeSpaceFloorStopsSamplesFirst() {
        let floor: Int64 = 1000
        #expect(FreeSpaceRule.admits(rank: 0, freeBytes: 1000, floor: floor))
        #expect(!FreeSpaceRule.admits(rank: 0, freeBytes: 999, floor: floor))
        #expect(FreeSpaceRule.admits(rank: 1, freeBytes: 999, floor: floor))
        #expect(!FreeSpaceRule.admits(rank: 1, freeBytes: 499, floor: floor))
        #expect(FreeSpaceRule.admits(rank: 4, freeBytes: 0, floor: floor))
    }
}

@Suite struct BackoffTests {
    @Test func ceilingDoublesFromBaseUpToTheCap() {
        var backoff = Backoff(base: .seconds(1), cap: .seconds(900))
        var ceilings: [Duration] = []
        for _ in 0..<12 {
            ceilings.append(backoff.ceiling)
            _ = backoff.fail(unit: 0.5)
        }
        #expect(Array(ceilings.prefix(10)) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map { Duration.seconds($0) })
        #expect(ceilings[10] == .seconds(900))
        #expect(ceilings[11] == .seconds(900))
    }

    @Test func fullJitterSpansZeroToCeiling() {
        var low = Backoff()
        var high = Backoff()
        for _ in 0..<5 {
            _ = low.fail(unit: 0)
            _ = high.fail(unit: 0.999_999)
        }
        #expect(low.fail(unit: 0) == .zero)
        #expect(high.fail(unit: 1) == .seconds(32))
    }

    @Test func attemptsAreNeverCappedAndResetStartsOver() {
        var backoff = Backoff(base: .seconds(1), cap: .seconds(900))
        for _ in 0..<10_000 { _ = backoff.fail(unit: 0.3) }
        #expect(backoff.failures == 10_000)
        #expect(backoff.fail(unit: 0.5) == .seconds(450))
        backoff.reset()
        #expect(backoff.ceiling == .seconds(1))
        // An item's own backoff resumes from its stored attempt count.
        #expect(Backoff(failures: 3).ceiling == .seconds(8))
    }
}

@Suite struct ItemIDTests {
    @Test func roundTripsAndCarriesItsTime() throws {
        let date = Date(timeIntervalSince1970: 1_795_000_000.123)
        let id = ItemID.make(at: date)
        #expect(id.rawValue.count == 36)
        let parsed = try #require(ItemID(id.rawValue))
        #expect(parsed == id)
        #expect(abs(id.timestamp.timeIntervalSince(date)) < 0.001)
        #expect(ItemID("not-an-id") == nil)
        #expect(ItemID(id.rawValue.uppercased()) == nil)
        // Version 4 UUIDs are refused: only v7 sorts by time.
        #expect(ItemID("0190f3a2-7c4e-4d1a-9b2f-3e4d5c6b7a89") == nil)
    }

    @Test func textSortsByCreationTime() {
        let ids = (0..<50).map { ItemID.make(at: Date(timeIntervalSince1970: 1_700_000_000 + Double($0) * 0.01)) }
        #expect(ids == ids.sorted())
    }
}
