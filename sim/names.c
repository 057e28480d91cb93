#include "names.h"

#include <stdio.h>

static const char *const family[] = {
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Ma", "Nông", "Lương", "Triệu"};
static const char *const middle[] = {"Văn", "Thị", "Đức", "Minh", "Thu", "Quốc",
                                     "Ngọc", "Hữu", "Thanh", "Xuân", "Kim", "Hồng"};
static const char *const given[] = {
    "An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa",
    "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Ngân",
    "Oanh", "Phúc", "Phương", "Quang", "Quyên", "Sơn", "Tâm", "Thảo", "Thắng",
    "Thủy", "Trang", "Trung", "Tuấn", "Vân", "Việt", "Yến"};

#define N(a) (sizeof a / sizeof a[0])

void sim_name(uint64_t i, char *out, size_t cap) {
  /* Strides that are prime to the list lengths walk every combination. */
  const char *f = family[(i * 7) % N(family)];
  const char *m = middle[(i * 5 + i / N(family)) % N(middle)];
  const char *g = given[(i * 11 + i / 3) % N(given)];
  snprintf(out, cap, "%s %s %s", f, m, g);
}
