using System.Text;

namespace KetamineCds.Review.Grouping;

/// <summary>
/// Stable partitions of patients by a hash of the id as exported (FNV-1a, 64-bit, over its UTF-8 bytes): the same
/// patient lands in the same shard on every machine and every run, which <c>--shard i/N</c> relies on.
/// string.GetHashCode is randomized per process and would scatter a patient across shards.
/// </summary>
public static class PatientPartition
{
    public static ulong Hash(string patientId)
    {
        ArgumentNullException.ThrowIfNull(patientId);
        var hash = 14695981039346656037UL;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(patientId) <= buffer.Length
            ? buffer[..Encoding.UTF8.GetBytes(patientId, buffer)]
            : Encoding.UTF8.GetBytes(patientId);
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }

        return hash;
    }

    /// <summary>The shard (0-based) of a patient among <paramref name="count"/> shards.</summary>
    public static int Shard(string patientId, int count) => (int)(Hash(patientId) % (ulong)count);

    /// <summary>The spill bucket; drawn from the upper bits so it is independent of the shard.</summary>
    public static int Bucket(string patientId, int buckets) => (int)((Hash(patientId) >> 32) % (ulong)buckets);
}

/// <summary>One shard of a review: <c>--shard i/N</c> with 1 &lt;= i &lt;= N (1-based as a Kubernetes Indexed Job's index + 1).</summary>
public sealed record ShardSpec(int Index, int Count)
{
    public static ShardSpec All { get; } = new(1, 1);

    public bool Includes(string patientId) => Count == 1 || PatientPartition.Shard(patientId, Count) == Index - 1;

    public override string ToString() => $"{Index}/{Count}";

    /// <summary>Parses "i/N"; null with the reason when it is not a valid shard.</summary>
    public static ShardSpec? Parse(string text, out string? error)
    {
        error = null;
        var parts = (text ?? "").Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            && count >= 1 && count <= 100_000 && index >= 1 && index <= count)
        {
            return new ShardSpec(index, count);
        }

        error = $"--shard must be i/N with 1 <= i <= N (e.g. 1/4), not '{text}'";
        return null;
    }
}
