// Training run of the profile-guided build of the blk model (see
// sim/build.rs): replays recorded per-cycle input words through the
// generated shim's step function, as the Verilator backend drives it, and
// prints the hash of the output words after every step so build.rs can
// tell whether the model still answers as it did when recorded.
//
// argv[1]: the events build.rs decoded from sim/pgo/*.trace, as 32-bit
// words: in_words, out_words, skip, then per event
// 0 n (n steps) | 1 word value (set an input word) | 2 on (reset).
#include <cstdint>
#include <cstdio>
#include <vector>

extern "C" {
void* vfpga_blk_model_new();
void vfpga_blk_model_free(void* m);
int vfpga_blk_model_step(void* m, const uint32_t* in, uint32_t* out);
void vfpga_blk_model_outputs(void* m, uint32_t* out);
void vfpga_blk_model_set_skip(void* m, int on);
void vfpga_blk_model_set_reset(void* m, int v);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  FILE* f = std::fopen(argv[1], "rb");
  if (!f) return 2;
  std::vector<uint32_t> ev;
  uint32_t w;
  while (std::fread(&w, sizeof w, 1, f) == 1) ev.push_back(w);
  std::fclose(f);
  if (ev.size() < 3) return 2;
  std::vector<uint32_t> in(ev[0] ? ev[0] : 1), out(ev[1] ? ev[1] : 1);
  void* m = vfpga_blk_model_new();
  vfpga_blk_model_set_skip(m, ev[2] != 0);
  vfpga_blk_model_outputs(m, out.data());
  // FNV-1a over the output words' little-endian bytes, as record.rs.
  uint64_t h = 0xcbf29ce484222325ull;
  uint64_t steps = 0;
  for (size_t i = 3; i < ev.size();) {
    switch (ev[i]) {
      case 0:
        for (uint32_t n = ev[i + 1]; n > 0; n--) {
          vfpga_blk_model_step(m, in.data(), out.data());
          for (size_t k = 0; k < ev[1]; k++)
            for (int b = 0; b < 4; b++) {
              h ^= (out[k] >> (8 * b)) & 0xff;
              h *= 0x100000001b3ull;
            }
          steps++;
        }
        i += 2;
        break;
      case 1:
        in[ev[i + 1]] = ev[i + 2];
        i += 3;
        break;
      case 2:
        vfpga_blk_model_set_reset(m, ev[i + 1] != 0);
        i += 2;
        break;
      default:
        return 3;
    }
  }
  vfpga_blk_model_free(m);
  std::printf("%016llx %llu\n", (unsigned long long)h, (unsigned long long)steps);
  return 0;
}
