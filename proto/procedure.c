#include "fieldmesh/procedure.h"

#include <string.h>

/* Codes are part of the signed record format: append, never rename. */
static const fm_procedure catalogue[] = {
    {"chung_thuc", "Chứng thực bản sao từ bản chính",
     "Certified copy from the original"},
    {"chung_thuc_chu_ky", "Chứng thực chữ ký", "Signature certification"},
    {"khai_sinh", "Đăng ký khai sinh", "Birth registration"},
    {"trich_luc_khai_sinh", "Cấp bản sao trích lục khai sinh",
     "Birth-certificate extract"},
    {"khai_tu", "Đăng ký khai tử", "Death registration"},
    {"ket_hon", "Đăng ký kết hôn", "Marriage registration"},
    {"xac_nhan_hon_nhan", "Cấp Giấy xác nhận tình trạng hôn nhân",
     "Marital-status confirmation"},
    {"cu_tru", "Đăng ký cư trú (thường trú, tạm trú)",
     "Residence registration (permanent or temporary)"},
    {"gia_dinh_van_hoa", "Công nhận danh hiệu \"Gia đình văn hóa\"",
     "Cultural-family recognition"},
    {"nhan_cha_me_con", "Đăng ký nhận cha, mẹ, con",
     "Recognition of a parent or child"},
    {"giam_ho", "Đăng ký giám hộ", "Guardianship registration"},
    {"cai_chinh_ho_tich", "Thay đổi, cải chính, bổ sung thông tin hộ tịch",
     "Change or correction of civil-status details"},
    {"lien_thong_tre_em",
     "Liên thông: khai sinh, thường trú, thẻ BHYT cho trẻ em dưới 6 tuổi",
     "Linked: birth, residence and health-insurance card for a child under 6"},
    {"lien_thong_khai_tu", "Liên thông: khai tử, xóa thường trú, trợ cấp mai táng",
     "Linked: death, removal from residence, funeral allowance"},
    {"tro_cap_xa_hoi", "Trợ cấp xã hội hằng tháng", "Monthly social allowance"},
};

#define COUNT (sizeof catalogue / sizeof catalogue[0])

size_t fm_procedure_count(void) { return COUNT; }

const fm_procedure *fm_procedure_at(size_t i) {
  return i < COUNT ? &catalogue[i] : NULL;
}

const fm_procedure *fm_procedure_find(const char *code, size_t n) {
  for (size_t i = 0; i < COUNT; i++)
    if (strlen(catalogue[i].code) == n && memcmp(catalogue[i].code, code, n) == 0)
      return &catalogue[i];
  return NULL;
}
