namespace KetamineCds.Review.Grouping;

/// <summary>The resource kinds the review routes to a patient.</summary>
public enum SpilledKind : byte
{
    Patient,
    MedicationStatement,
    MedicationRequest,
    Observation,
}

/// <summary>One resource routed to its patient, with where it came from (for line-numbered messages).</summary>
public sealed record SpilledRecord(string PatientId, SpilledKind Kind, bool NameMatched, string? MedicationKey, int FileIndex, long Position, byte[] Json);

/// <summary>
/// The first pass writes each relevant resource to one of B bucket files chosen by a hash of its patient id; the second
/// pass reads one bucket at a time, so memory holds one bucket's patients, never the export. Each first-pass worker
/// writes its own set of files (no locks); a bucket is the union of the workers' files for it.
/// </summary>
public sealed class SpillWriter : IDisposable
{
    private readonly BinaryWriter[] _writers;

    public SpillWriter(string directory, int worker, int buckets)
    {
        _writers = new BinaryWriter[buckets];
        for (var b = 0; b < buckets; b++)
        {
            var stream = new FileStream(PathOf(directory, worker, b), FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
            _writers[b] = new BinaryWriter(stream);
        }
    }

    public static string PathOf(string directory, int worker, int bucket) => Path.Combine(directory, $"w{worker}-b{bucket}.spill");

    public void Write(string patientId, SpilledKind kind, bool nameMatched, string? medicationKey, int fileIndex, long position, ReadOnlySpan<byte> json)
    {
        var writer = _writers[PatientPartition.Bucket(patientId, _writers.Length)];
        writer.Write(patientId);
        writer.Write((byte)kind);
        writer.Write(nameMatched);
        writer.Write(medicationKey ?? "");
        writer.Write(fileIndex);
        writer.Write(position);
        writer.Write(json.Length);
        writer.Write(json);
    }

    public void Dispose()
    {
        foreach (var writer in _writers)
        {
            writer.Dispose();
        }
    }

    /// <summary>Every record of one bucket, from every worker's file.</summary>
    public static IEnumerable<SpilledRecord> ReadBucket(string directory, int workers, int bucket)
    {
        for (var w = 0; w < workers; w++)
        {
            var path = PathOf(directory, w, bucket);
            if (!File.Exists(path))
            {
                continue;
            }

            using var reader = new BinaryReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024));
            while (reader.BaseStream.Position < reader.BaseStream.Length)
            {
                var patient = reader.ReadString();
                var kind = (SpilledKind)reader.ReadByte();
                var matched = reader.ReadBoolean();
                var medication = reader.ReadString();
                var file = reader.ReadInt32();
                var position = reader.ReadInt64();
                var json = reader.ReadBytes(reader.ReadInt32());
                yield return new SpilledRecord(patient, kind, matched, medication.Length == 0 ? null : medication, file, position, json);
            }
        }
    }
}
