using System.Security.Cryptography;
using System.Text;

namespace KetamineCds.Storage;

/// <summary>
/// Keyed hash of patient ids for audit records and the feedback store: HMAC-SHA256(key, UTF-8 patient id), hex. An
/// operator holding the key can find a given patient's calls and cards (hash the id and search); anyone reading the logs
/// or the database without the key cannot reverse or dictionary-attack the short, guessable ids EHRs use. Rotating the
/// key breaks correlation across the change (by design; for the store it also ends running snoozes: docs/feedback-store.md).
/// Lives in Storage so the review tool hashes exactly as the service does, without the web host.
/// </summary>
public sealed class PatientIdHasher(byte[] key)
{
    public const string Prefix = "hmac-sha256:";

    private readonly byte[] key = key ?? throw new ArgumentNullException(nameof(key));

    public string Hash(string patientId) =>
        Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(patientId ?? "")));
}
